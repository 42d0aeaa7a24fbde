package runtime

import (
	"sort"
	"strings"
)

// SecretMask replaces a secret wherever Redactor finds one.
const SecretMask = "<secret>"

// MinSecretLen is the length below which a substituted value is not
// searched for in text: a one- or two-character value (a port digit, "on")
// cannot be told apart from ordinary text, and masking it everywhere would
// garble every message without protecting anything.
const MinSecretLen = 4

// Redactor returns a function that replaces every occurrence of each
// secret (of at least MinSecretLen bytes) in a text by SecretMask; longer
// secrets are replaced first. With no such secret it returns the identity.
func Redactor(secrets []string) func(string) string {
	var ss []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= MinSecretLen && !seen[s] {
			seen[s] = true
			ss = append(ss, s)
		}
	}
	if len(ss) == 0 {
		return func(s string) string { return s }
	}
	sort.Slice(ss, func(i, j int) bool { return len(ss[i]) > len(ss[j]) })
	args := make([]string, 0, 2*len(ss))
	for _, s := range ss {
		args = append(args, s, SecretMask)
	}
	r := strings.NewReplacer(args...)
	return r.Replace
}
