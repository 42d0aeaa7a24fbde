package wire

// Option is postcard's Option<T>: on the wire a 0x00 byte for None, or 0x01
// followed by T. The zero value is None.
type Option[T any] struct {
	Value T    // meaningful only when Valid
	Valid bool // true for Some
}

// Some returns an Option holding v.
func Some[T any](v T) Option[T] { return Option[T]{Value: v, Valid: true} }

// None returns the empty Option; it equals the zero value.
func None[T any]() Option[T] { return Option[T]{} }

// Get returns the value and whether it is present.
func (o Option[T]) Get() (T, bool) { return o.Value, o.Valid }

// Or returns the value if present, else def.
func (o Option[T]) Or(def T) T {
	if o.Valid {
		return o.Value
	}
	return def
}
