using System.Text;
using Overlay.Cli;
using Overlay.Daemon.Hosting;
using Overlay.Daemon.Options;

// The package's files that come from the programs' own definitions, not from hand-kept copies: the manual pages
// (from overlayd's flag table and overlayctl's command tree, which also write --help) and /etc/default/overlayd.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Overlay.Packaging OUTDIR   (writes overlayd.8, overlayctl.1 and overlayd.default there)");
    return 2;
}

string folder = Directory.CreateDirectory(args[0]).FullName;
var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
File.WriteAllText(Path.Combine(folder, "overlayd.8"), DaemonFlags.ManPage(OverlayNode.Version), utf8);
File.WriteAllText(Path.Combine(folder, "overlayctl.1"), ManualPage.Render(), utf8);
File.WriteAllText(Path.Combine(folder, "overlayd.default"), DaemonFlags.EnvironmentFile(), utf8);
return 0;
