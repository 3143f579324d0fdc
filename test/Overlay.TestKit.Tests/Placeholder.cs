namespace Overlay.TestKit.Tests;
