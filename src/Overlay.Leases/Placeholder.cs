namespace Overlay.Leases;
