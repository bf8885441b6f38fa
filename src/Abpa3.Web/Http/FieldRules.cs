namespace Abpa3.Web.Http;

/// <summary>Collects field errors for a 422 answer.</summary>
public sealed class FieldRules
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public IDictionary<string, string[]> Errors => _errors;

    public FieldRules Require(string field, bool condition, string message)
    {
        if (!condition && !_errors.ContainsKey(field))
            _errors[field] = [message];
        return this;
    }
}
