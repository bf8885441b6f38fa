using Abpa3.Host;

return await NodeCommand.Create().Parse(args).InvokeAsync(NodeCommand.Invocation);
