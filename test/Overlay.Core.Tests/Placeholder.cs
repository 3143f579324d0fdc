namespace Overlay.Core.Tests;
