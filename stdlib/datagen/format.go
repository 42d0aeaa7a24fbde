package datagen

import (
	"math"
	"strconv"
	"time"
)

// Allocation-free formatting helpers for the hot path (no fmt).

const hexDigits = "0123456789abcdef"

// appendPad8 appends n in decimal, zero-padded to at least 8 digits (like
// Go's %08d).
func appendPad8(dst []byte, n uint64) []byte {
	if n >= 100_000_000 {
		return strconv.AppendUint(dst, n, 10)
	}
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, b[:]...)
}

// appendHex appends the low 4*digits bits of v as exactly digits lower-case
// hex digits (like %0*x of a value that fits).
func appendHex(dst []byte, v uint64, digits int) []byte {
	var b [16]byte
	for i := digits - 1; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return append(dst, b[:digits]...)
}

// append2 and append4 append a zero-padded 2- or 4-digit number.
func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func append4(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

const secondsPerDay = 86400

// splitUnix returns the day number since 1970-01-01 and the second of that
// day of the Unix time sec (floor division, so negative times work).
func splitUnix(sec int64) (days int64, secOfDay int) {
	days, rem := sec/secondsPerDay, sec%secondsPerDay
	if rem < 0 {
		rem += secondsPerDay
		days--
	}
	return days, int(rem)
}

// civil converts a day number since 1970-01-01 to a proleptic Gregorian
// date (H. Hinnant's days_from_civil inverse).
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	year = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365]
	mp := (5*doy + 2) / 153                  // [0, 11], March-based
	day = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		month = int(mp + 3)
	} else {
		month = int(mp - 9)
	}
	if month <= 2 {
		year++
	}
	return year, month, day
}

// appendDate appends the day number days as "YYYY-MM-DD".
func appendDate(dst []byte, days int64) []byte {
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		return time.Unix(days*secondsPerDay, 0).UTC().AppendFormat(dst, time.DateOnly)
	}
	return appendYMD(dst, y, m, d)
}

func appendYMD(dst []byte, y int64, m, d int) []byte {
	dst = append4(dst, int(y))
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendRFC3339 appends the Unix time sec as RFC 3339 UTC with second
// precision ("2026-11-27T10:04:05Z"), like time.Unix(sec, 0).UTC().
// AppendFormat(dst, time.RFC3339) but faster.
func appendRFC3339(dst []byte, sec int64) []byte {
	days, sod := splitUnix(sec)
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		return time.Unix(sec, 0).UTC().AppendFormat(dst, time.RFC3339)
	}
	dst = appendYMD(dst, y, m, d)
	dst = append(dst, 'T')
	dst = append2(dst, sod/3600)
	dst = append(dst, ':')
	dst = append2(dst, sod/60%60)
	dst = append(dst, ':')
	dst = append2(dst, sod%60)
	return append(dst, 'Z')
}

// round2 rounds f to 2 decimals (half away from zero).
func round2(f float64) float64 {
	return math.Round(f*100) / 100
}
