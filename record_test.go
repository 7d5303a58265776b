package tenantmap_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// The typed setters store what the typed getters read back, in the Go
// types a write keeps; a value of another type reads as the zero value.
func TestRecordTypedSetters(t *testing.T) {
	var r tenantmap.Record
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r.SetString("s", "x")
	r.SetInt64("i", math.MaxInt64)
	r.SetFloat64("f", 2.5)
	r.SetBool("b", true)
	r.SetTime("t", at)
	r.SetBytes("p", []byte{0, 1})
	if err := r.SetJSON("j", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetJSON("bad", func() {}); err == nil {
		t.Error("SetJSON of a func: want an error")
	}
	if r.Has("bad") {
		t.Error("a refused SetJSON set the field")
	}
	if r.String("s") != "x" || r.Int64("i") != math.MaxInt64 || r.Float64("f") != 2.5 || !r.Bool("b") ||
		!r.Time("t").Equal(at) || !bytes.Equal(r.Bytes("p"), []byte{0, 1}) {
		t.Fatalf("getters: %v", r.Names())
	}
	var m map[string]int
	if err := r.Decode("j", &m); err != nil || m["a"] != 1 {
		t.Fatalf("Decode: %v %v", m, err)
	}
	if r.Int64("s") != 0 || r.String("i") != "" || r.Bool("f") || !r.Time("s").IsZero() {
		t.Error("a getter of another type read a value")
	}
	// The JSON round trip keeps every value.
	b, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var back tenantmap.Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.String("s") != "x" || back.Int64("i") != math.MaxInt64 || back.Float64("f") != 2.5 || !back.Bool("b") ||
		!back.Time("t").Equal(at) || !bytes.Equal(back.Bytes("p"), []byte{0, 1}) {
		t.Fatalf("after the round trip %s: %v", b, back.Names())
	}
	if err := back.Decode("j", &m); err != nil || m["a"] != 1 {
		t.Fatalf("Decode after the round trip: %v %v", m, err)
	}
	r.Unset("s")
	r.SetNull("i")
	if r.Has("s") || !r.Has("i") || !r.IsNull("i") {
		t.Error("Unset or SetNull")
	}
}
