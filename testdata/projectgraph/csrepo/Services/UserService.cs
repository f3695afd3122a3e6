using System;
using Acme.Models;

namespace Acme.Services;

public class UserService
{
    public User Create(string name)
    {
        return new User(name);
    }
}
