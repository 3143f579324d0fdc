namespace Overlay.Leases.Tests;
