using Overlay.Cni;

// A CNI plugin: CNI_* in the environment, the network config on stdin, the result or error JSON on stdout.
return CniPlugin.Run(Environment.GetEnvironmentVariable, Console.In, Console.Out, Console.Error);
