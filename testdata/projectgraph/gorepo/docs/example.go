package docs

func AlsoIgnored() {}
