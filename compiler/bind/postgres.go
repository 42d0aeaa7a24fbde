package bind

import (
	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
)

// The postgres-cdc source. Its records' schema is known only at run time
// (each table's columns arrive with the stream), so Schema is nil:
// conditions on its streams are syntax-checked only and run on expr's VM.
func init() {
	register(&Component{
		Kind: Source,
		Name: "postgres-cdc",
		Def:  "#PostgresCDC",
		Decode: func(v cue.Value, _ *config.Node) (any, error) {
			var j struct {
				Host                  string   `json:"host"`
				Port                  int      `json:"port"`
				Database              string   `json:"database"`
				User                  string   `json:"user"`
				Password              string   `json:"password"`
				SlotName              string   `json:"slot_name"`
				PublicationName       string   `json:"publication_name"`
				Publication           string   `json:"publication"`
				Schemas               []string `json:"schemas"`
				Tables                []string `json:"tables"`
				SnapshotMode          string   `json:"snapshot_mode"`
				HeartbeatIntervalSecs int      `json:"heartbeat_interval_secs"`
				ConnectTimeoutSecs    int      `json:"connect_timeout_secs"`
				AutoCreateSlot        bool     `json:"auto_create_slot"`
				AutoCreatePublication bool     `json:"auto_create_publication"`
				DropSlotOnStop        bool     `json:"drop_slot_on_stop"`
				ProtocolVersion       int      `json:"protocol_version"`
				TLS                   struct {
					Mode           string `json:"mode"`
					CACertPath     string `json:"ca_cert_path"`
					ClientCertPath string `json:"client_cert_path"`
					ClientKeyPath  string `json:"client_key_path"`
				} `json:"tls"`
			}
			if err := decodeInto(v, &j); err != nil {
				return nil, err
			}
			cfg := cdc.Config{
				Host: j.Host, Port: j.Port, Database: j.Database, User: j.User, Password: j.Password,
				SlotName: j.SlotName, Publication: j.Publication, Schemas: j.Schemas, Tables: j.Tables,
				SnapshotMode: j.SnapshotMode, HeartbeatIntervalSecs: j.HeartbeatIntervalSecs,
				ConnectTimeoutSecs: j.ConnectTimeoutSecs, AutoCreateSlot: j.AutoCreateSlot,
				AutoCreatePublication: j.AutoCreatePublication, DropSlotOnStop: j.DropSlotOnStop, ProtocolVersion: j.ProtocolVersion,
				TLS: cdc.TLSConfig{Mode: j.TLS.Mode, CACertPath: j.TLS.CACertPath,
					ClientCertPath: j.TLS.ClientCertPath, ClientKeyPath: j.TLS.ClientKeyPath},
			}
			if cfg.Publication == "" {
				cfg.Publication = j.PublicationName
			}
			if cfg.Publication == "" {
				cfg.Publication = cdc.DefaultPublication
			}
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			return cfg, nil
		},
		Misfits: func(n *config.Node) []Misfit {
			if n.Get("publication") != nil && n.Get("publication_name") != nil {
				return []Misfit{{Key: []string{"publication_name"},
					Why: "publication_name is an alias of publication; give one (publication)"}}
			}
			return nil
		},
		Streams: func(cfg any) Streams {
			out := Streams{Namespaced: true,
				RowKey: "each table's primary key (its replica identity index when set; none for a table with neither)"}
			for _, t := range cfg.(cdc.Config).SelectedTables() {
				out.Names = append(out.Names, StreamName{Name: t[1], Namespace: t[0]})
			}
			return out
		},
		Go: &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/postgres/cdc", Func: "New", Env: "Now"},
		GoField: func(_ any, key []string) (string, bool) {
			if len(key) == 2 && key[0] == "tls" {
				f, ok := map[string]string{"mode": "TLS.Mode", "ca_cert_path": "TLS.CACertPath",
					"client_cert_path": "TLS.ClientCertPath", "client_key_path": "TLS.ClientKeyPath"}[key[1]]
				return f, ok
			}
			return fieldsByKey(map[string]string{
				"host": "Host", "port": "Port", "database": "Database", "user": "User", "password": "Password",
				"slot_name": "SlotName", "publication": "Publication", "publication_name": "Publication",
				"snapshot_mode": "SnapshotMode", "heartbeat_interval_secs": "HeartbeatIntervalSecs",
				"connect_timeout_secs": "ConnectTimeoutSecs", "auto_create_slot": "AutoCreateSlot",
				"auto_create_publication": "AutoCreatePublication", "drop_slot_on_stop": "DropSlotOnStop",
				"protocol_version": "ProtocolVersion",
			})(nil, key)
		},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return cdc.New(cfg.(cdc.Config), env.Now)
		},
	})
}
