namespace Overlay.Netlink.Tests;
