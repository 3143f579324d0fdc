namespace Overlay.TestKit;
