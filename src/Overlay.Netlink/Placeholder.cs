namespace Overlay.Netlink;
