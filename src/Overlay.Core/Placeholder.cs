namespace Overlay.Core;
