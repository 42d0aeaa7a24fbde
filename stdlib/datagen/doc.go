// Package datagen is the synthetic data source of rivven-connect: it
// generates records of a fixed pattern, optionally paced, bounded, and
// turned into simulated change events, without any external system.
//
// # Patterns and their schemas
//
// Fields are listed in generation order (the order of Record.After and of
// the Schema). seq is the record's 0-based sequence number (its
// Position.Offset); now is the source's clock. Strings picked from a list
// are uniform over it; "%08d" means zero-padded to at least 8 digits.
//
//	sequence   value int          = seq
//	random     id string          16 lower-case hex digits
//	           value int          0..999
//	           ratio float        0..1, 2 decimals
//	           active bool
//	           category string    A|B|C|D
//	users      user_id string     "user_%08d" of seq
//	           first_name string  one of 16 first names (Alice … Peter)
//	           last_name string   one of 14 surnames (Smith … White)
//	           email string       first.last@domain, lower case; domain in
//	                              example.com test.org demo.net mail.io acme.co
//	           age int            18..79
//	           country string     US UK DE FR JP AU CA BR IN MX
//	           premium bool
//	           signup_date string "YYYY-MM-DD", 0..1094 days before now (UTC)
//	orders     order_id string    "ORD-%08d" of seq
//	           customer_id string "user_%08d", 1..9999
//	           product string     Widget Pro, Gadget X, Super Tool, Mega Device,
//	                              Ultra Kit, Power Pack, Smart Hub, Data Box,
//	                              Cloud Unit, Sync Module
//	           quantity int       1..9
//	           unit_price float   10..210, 2 decimals
//	           total_amount float unit_price × quantity, rounded to 2 decimals
//	           currency string    USD EUR GBP JPY AUD
//	           status string      pending confirmed processing shipped
//	                              delivered cancelled
//	           created_at string  RFC 3339 UTC, 0..604799 s before now
//	events     event_id string    "evt_" + 16 hex digits
//	           event_type string  page_view click signup purchase logout error
//	                              search add_to_cart remove_from_cart checkout
//	           sequence int       = seq
//	           source string      web mobile_ios mobile_android api webhook
//	           user_id string     "user_%08d", 1..9999
//	           session_id string  "sess_" + 12 hex digits
//	           payload object     open object whose keys depend on event_type:
//	                              page_view {url string "/page/1".."/page/99",
//	                                referrer string|null
//	                                ("https://search.example.com" or null),
//	                                duration_ms int 100..29999};
//	                              click {element_id string "btn_1".."btn_49",
//	                                x int 0..1919, y int 0..1079};
//	                              purchase {amount float 0..500, 2 decimals,
//	                                items int 1..9};
//	                              every other type {}
//	metrics    metric_id int      = seq
//	           name string        cpu_usage memory_used disk_io network_rx
//	                              network_tx requests_per_sec latency_ms
//	                              error_rate queue_depth
//	           value float        2 decimals; by name: cpu_usage, memory_used,
//	                              error_rate 0..100; latency_ms 1..501;
//	                              requests_per_sec 0..10000; others 0..1000
//	           unit string        by name: percent (cpu_usage memory_used
//	                              error_rate), milliseconds (latency_ms), req/s
//	                              (requests_per_sec), bytes/s (disk_io
//	                              network_rx network_tx), count (queue_depth)
//	           host string        web-01 web-02 api-01 api-02 db-01 cache-01
//	           tags object        closed {env string prod|staging|dev,
//	                              region string us-east|us-west|eu-west|ap-south}
//	           timestamp string   now, RFC 3339 UTC
//	key_value  key string         "key_%08d" of seq
//	           value string       "value_" + 16 hex digits
//
// After the pattern fields come "_sequence" (int, = seq) if IncludeSequence,
// "_timestamp" (string, now in RFC 3339 UTC) if IncludeTimestamp, then the
// custom fields in configuration order. All timestamps have second
// precision and end in "Z". No top-level field is nullable except a custom
// field whose value is null.
//
// # Records
//
// Every record has Stream (StreamName, default "datagen"), Namespace, the
// source's shared Schema, Time = now() and Position.Offset = seq; now() is
// read once per Read call, so the records of one batch share their time
// (and _timestamp, created_at, …, derive from it). Outside
// CDC mode Op is runtime.OpRecord, After the row, Before and Meta nil.
//
// # CDC mode
//
// With CDCMode the source keeps a pool of up to 10 000 live rows and emits
// change events: 60 % inserts (OpInsert, After = a new row of seq, added to
// the pool; into a full pool it replaces a random row), 30 % updates
// (OpUpdate, Before = the live row, After = a modified copy with the same
// key field, see KeyField) and 10 % deletes (OpDelete, Before = the live
// row, After nil; the row leaves the pool). While the pool is empty the
// event is an insert. Updates change plausible fields: random value/ratio/
// active; users email/premium; orders status (along its lifecycle) or
// quantity with total_amount; events session_id/payload; metrics
// value/timestamp; key_value value; sequence nothing but _sequence and
// _timestamp, which every update refreshes. Meta is
// {"cdc": {"operation": "insert"|"update"|"delete", "sequence": seq,
// "source": "datagen", "simulated": true}}.
//
// # Determinism
//
// The generator is a math/rand/v2 PCG seeded from Config.Seed (or from the
// clock). Records depend only on the config, the seed and the values now()
// returns, so the same seed and a fixed clock give identical records,
// including in CDC mode and whatever the batch sizes. Rate limiting does
// not affect the records, only their pace.
package datagen
