package cdc

// The selection: the tables a source reads and streams are those of
// config.tables (or the streams list), else every table of config.schemas,
// else every table of the publication. A publication may cover more (one
// created by the user for several pipelines): the other tables' changes
// still arrive from the server, and are dropped undecoded.

// selected reports whether the table schema.name is in the selection.
func (s *Source) selected(schema, name string) bool {
	if len(s.tables) > 0 {
		for _, t := range s.tables {
			if t.schema == schema && t.name == name {
				return true
			}
		}
		return false
	}
	if len(s.schemas) > 0 {
		for _, n := range s.schemas {
			if n == schema {
				return true
			}
		}
		return false
	}
	return true
}

// ignoring logs, once per table and run, that a published table is not
// selected.
func (s *Source) ignoring(schema, name string) {
	key := table{schema, name}.String()
	s.ignoredMu.Lock()
	defer s.ignoredMu.Unlock()
	if s.ignored[key] {
		return
	}
	if s.ignored == nil {
		s.ignored = map[string]bool{}
	}
	s.ignored[key] = true
	s.logger().Info("publication covers a table this source does not select: its changes are dropped",
		"publication", s.pub, "table", key)
}
