package store

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, Prepare) }
