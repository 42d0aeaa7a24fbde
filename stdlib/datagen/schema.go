package datagen

import "github.com/rivven/rivven-connect/runtime"

var (
	tInt    = runtime.Type{Kind: runtime.KindInt}
	tFloat  = runtime.Type{Kind: runtime.KindFloat}
	tString = runtime.Type{Kind: runtime.KindString}
	tBool   = runtime.Type{Kind: runtime.KindBool}
)

// patternFields holds the fields of each pattern in generation order,
// indexed by pattern. The first field of each is the pattern's key field
// (see KeyField). The generators in patterns.go append values in exactly
// this order; the position constants below must agree with it.
var patternFields = [...][]runtime.Field{
	patSequence: {
		{Name: "value", Type: tInt},
	},
	patRandom: {
		{Name: "id", Type: tString},
		{Name: "value", Type: tInt},
		{Name: "ratio", Type: tFloat},
		{Name: "active", Type: tBool},
		{Name: "category", Type: tString},
	},
	patUsers: {
		{Name: "user_id", Type: tString},
		{Name: "first_name", Type: tString},
		{Name: "last_name", Type: tString},
		{Name: "email", Type: tString},
		{Name: "age", Type: tInt},
		{Name: "country", Type: tString},
		{Name: "premium", Type: tBool},
		{Name: "signup_date", Type: tString},
	},
	patOrders: {
		{Name: "order_id", Type: tString},
		{Name: "customer_id", Type: tString},
		{Name: "product", Type: tString},
		{Name: "quantity", Type: tInt},
		{Name: "unit_price", Type: tFloat},
		{Name: "total_amount", Type: tFloat},
		{Name: "currency", Type: tString},
		{Name: "status", Type: tString},
		{Name: "created_at", Type: tString},
	},
	patEvents: {
		{Name: "event_id", Type: tString},
		{Name: "event_type", Type: tString},
		{Name: "sequence", Type: tInt},
		{Name: "source", Type: tString},
		{Name: "user_id", Type: tString},
		{Name: "session_id", Type: tString},
		{Name: "payload", Type: runtime.Type{Kind: runtime.KindObject, Open: true}},
	},
	patMetrics: {
		{Name: "metric_id", Type: tInt},
		{Name: "name", Type: tString},
		{Name: "value", Type: tFloat},
		{Name: "unit", Type: tString},
		{Name: "host", Type: tString},
		{Name: "tags", Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{
			{Name: "env", Type: tString},
			{Name: "region", Type: tString},
		}}},
		{Name: "timestamp", Type: tString},
	},
	patKeyValue: {
		{Name: "key", Type: tString},
		{Name: "value", Type: tString},
	},
}

// Field positions the CDC mutators rely on (see patternFields).
const (
	randValue, randRatio, randActive = 1, 2, 3

	userFirst, userLast, userEmail, userPremium = 1, 2, 3, 6

	orderQuantity, orderUnitPrice, orderTotal, orderStatus = 3, 4, 5, 7

	eventType, eventSession, eventPayload = 1, 5, 6

	metricName, metricValue, metricTimestamp = 1, 2, 6

	kvValue = 1
)

// Schema returns the schema of the records New(cfg) emits: the pattern's
// fields in generation order, then "_sequence" (int) and "_timestamp"
// (string) when enabled, then the custom fields in order, typed from their
// values (a null value gives a nullable field of type any). The field types
// of each pattern are listed in the package doc.
//
// It returns Validate's error for an invalid cfg, in particular an unknown
// pattern. Each call returns a new *Schema; a Source returns the one its
// records share from its Schema method.
func Schema(cfg Config) (*runtime.Schema, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, _ := parsePattern(cfg.Pattern)
	return buildSchema(p, cfg), nil
}

func buildSchema(p pattern, cfg Config) *runtime.Schema {
	base := patternFields[p]
	fields := make([]runtime.Field, 0, len(base)+2+len(cfg.CustomFields))
	fields = append(fields, base...)
	if cfg.IncludeSequence {
		fields = append(fields, runtime.Field{Name: SequenceField, Type: tInt})
	}
	if cfg.IncludeTimestamp {
		fields = append(fields, runtime.Field{Name: TimestampField, Type: tString})
	}
	for _, cf := range cfg.CustomFields {
		fields = append(fields, runtime.Field{
			Name:     cf.Name,
			Type:     typeOf(cf.Value),
			Nullable: cf.Value.IsNull(),
		})
	}
	s := runtime.NewSchema(fields...)
	s.Key = []int{0} // the pattern's id field (KeyField)
	return s
}

// typeOf derives the type of a constant value: scalars by kind, an object
// as a closed object type with its keys in order, an array as an array of
// its elements' common type (any when empty or mixed), null as any.
func typeOf(v runtime.Value) runtime.Type {
	switch v.Kind() {
	case runtime.KindBool, runtime.KindInt, runtime.KindFloat, runtime.KindString:
		return runtime.Type{Kind: v.Kind()}
	case runtime.KindObject:
		o := v.AsObject()
		fields := make([]runtime.Field, len(o.Keys))
		for i, k := range o.Keys {
			fields[i] = runtime.Field{Name: k, Type: typeOf(o.Values[i]), Nullable: o.Values[i].IsNull()}
		}
		return runtime.Type{Kind: runtime.KindObject, Fields: fields}
	case runtime.KindArray:
		a := v.AsArray()
		if len(a) == 0 {
			return runtime.Type{Kind: runtime.KindArray}
		}
		elem := typeOf(a[0])
		s := elem.String()
		for _, e := range a[1:] {
			if typeOf(e).String() != s {
				return runtime.Type{Kind: runtime.KindArray}
			}
		}
		return runtime.Type{Kind: runtime.KindArray, Elem: &elem}
	}
	return runtime.Any
}
