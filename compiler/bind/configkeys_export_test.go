package bind

// TagKeys exposes Component.tagKeys to the tests of package bind_test.
func TagKeys(c *Component) []string { return c.tagKeys() }

// HasGoPath exposes Component.hasGoPath to the tests of package bind_test.
func HasGoPath(c *Component, p string) bool { return c.hasGoPath(p) }
