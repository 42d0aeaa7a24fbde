package wire

// QuotaEntity names a quota holder: EntityType is "user", "client-id",
// "consumer-group" or "default"; a None EntityName means the default entity.
type QuotaEntity struct {
	EntityType string
	EntityName Option[string]
}

// DescribeQuotas (request 27) asks for quotas; empty Entities means all.
type DescribeQuotas struct{ Entities []QuotaEntity }

func (m *DescribeQuotas) appendFields(b []byte) []byte {
	return appendVec(b, m.Entities, func(b []byte, e QuotaEntity) []byte {
		return appendOptString(AppendString(b, e.EntityType), e.EntityName)
	})
}

func (m *DescribeQuotas) decodeFields(d *Decoder) {
	m.Entities = decVec(d, func(d *Decoder) (e QuotaEntity) {
		e.EntityType = d.String()
		e.EntityName = d.optString()
		return e
	})
}

// QuotaAlteration sets (Some) or removes (None) one quota key of an entity.
type QuotaAlteration struct {
	EntityType string
	EntityName Option[string]
	QuotaKey   string
	QuotaValue Option[uint64]
}

// AlterQuotas (request 28) applies quota alterations.
type AlterQuotas struct{ Alterations []QuotaAlteration }

func (m *AlterQuotas) appendFields(b []byte) []byte {
	return appendVec(b, m.Alterations, func(b []byte, a QuotaAlteration) []byte {
		b = AppendString(b, a.EntityType)
		b = appendOptString(b, a.EntityName)
		b = AppendString(b, a.QuotaKey)
		return appendOptU64(b, a.QuotaValue)
	})
}

func (m *AlterQuotas) decodeFields(d *Decoder) {
	m.Alterations = decVec(d, func(d *Decoder) (a QuotaAlteration) {
		a.EntityType = d.String()
		a.EntityName = d.optString()
		a.QuotaKey = d.String()
		a.QuotaValue = d.optU64()
		return a
	})
}

// QuotaEntry is one entity's quotas in QuotasDescribed.
type QuotaEntry struct {
	EntityType string
	EntityName Option[string]
	Quotas     map[string]uint64
}

// QuotasDescribed (response 28) answers DescribeQuotas.
type QuotasDescribed struct{ Entries []QuotaEntry }

func (m *QuotasDescribed) appendFields(b []byte) []byte {
	return appendVec(b, m.Entries, func(b []byte, e QuotaEntry) []byte {
		b = AppendString(b, e.EntityType)
		b = appendOptString(b, e.EntityName)
		return appendMap(b, e.Quotas, AppendString, AppendUvarint)
	})
}

func (m *QuotasDescribed) decodeFields(d *Decoder) {
	m.Entries = decVec(d, func(d *Decoder) (e QuotaEntry) {
		e.EntityType = d.String()
		e.EntityName = d.optString()
		e.Quotas = decMap(d, (*Decoder).String, (*Decoder).U64)
		return e
	})
}

// QuotasAltered (response 29) answers AlterQuotas.
type QuotasAltered struct{ AlteredCount uint64 }

func (m *QuotasAltered) appendFields(b []byte) []byte { return AppendUvarint(b, m.AlteredCount) }
func (m *QuotasAltered) decodeFields(d *Decoder)      { m.AlteredCount = d.U64() }

// Throttled (response 30) tells the client to wait ThrottleTimeMs before retrying.
type Throttled struct {
	ThrottleTimeMs uint64
	QuotaType      string
	Entity         string
}

func (m *Throttled) appendFields(b []byte) []byte {
	b = AppendUvarint(b, m.ThrottleTimeMs)
	b = AppendString(b, m.QuotaType)
	return AppendString(b, m.Entity)
}

func (m *Throttled) decodeFields(d *Decoder) {
	m.ThrottleTimeMs = d.U64()
	m.QuotaType = d.String()
	m.Entity = d.String()
}
