namespace Acme.Models
{
    /// <summary>A user of the system.</summary>
    public class User
    {
        public const int MaxNameLength = 64;
        public string Name { get; set; }

        public User(string name) { Name = name; }

        public string Greeting() => "Hello " + Name;
    }
}
