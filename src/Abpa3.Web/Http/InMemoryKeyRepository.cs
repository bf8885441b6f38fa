using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Abpa3.Web.Http;

/// <summary>
/// Where ASP.NET's data-protection key ring lives: in memory, for this process only. Nothing of the node's is
/// protected with it (tokens are JWTs signed with the node's own key), but ASP.NET's authentication registers
/// data protection and warms its key ring at start; left to its defaults that writes a key file under the
/// user's home directory (<c>~/.aspnet/DataProtection-Keys</c>). A node writes only into its data directory.
/// </summary>
public sealed class InMemoryKeyRepository : IXmlRepository
{
    private readonly Lock _lock = new();
    private readonly List<XElement> _elements = [];

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
            return _elements.Select(e => new XElement(e)).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock)
            _elements.Add(new XElement(element));
    }
}
