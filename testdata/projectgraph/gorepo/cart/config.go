package cart

// apiToken must never reach a prompt.
var apiToken = "ghp_0123456789abcdefghijABCDEFGHIJklmnop"

const databasePassword = "hunter2hunter2"
