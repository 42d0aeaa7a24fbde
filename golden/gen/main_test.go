package gen_test

import (
	"testing"

	"github.com/rivven/rivven-connect/golden/goldentest"
)

// TestMain stops the servers golden cases started (goldentest.Main).
func TestMain(m *testing.M) { goldentest.Main(m) }
