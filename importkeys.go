package tenantmap

import (
	"errors"
	"fmt"
	"math"

	"github.com/tenantmap/tenantmap/dialect"
)

// ErrImportKeyRange: Import refused a generated key that would take a
// sequence shared by every tenant of a shared table too far (issue 12 item
// 7). It also matches ErrInvalidExport.
var ErrImportKeyRange = errors.New("tenantmap: imported key out of range")

// maxImportedKey is the largest generated key Import keeps in a shared
// table whose tenants share one sequence (PostgreSQL): half the key type's
// range. Import moves the sequence past the keys it loads, so a larger one
// could leave the other tenants too few keys, or none (a key of max int64
// would make every later insert of every tenant fail).
func maxImportedKey(k dialect.Kind) int64 {
	switch k {
	case dialect.Int16:
		return math.MaxInt16 / 2
	case dialect.Int32:
		return math.MaxInt32 / 2
	}
	return math.MaxInt64 / 2
}

// checkImportedKey refuses a kept generated key of a shared table beyond
// maxImportedKey.
func checkImportedKey(f *field, v any) error {
	n, ok := v.(int64)
	if !ok || n <= maxImportedKey(f.kind) {
		return nil
	}
	return fmt.Errorf("%w: %w: key %s=%d is above %d, the largest a shared table's generated key may be imported with (its sequence serves every tenant); renumber the rows in the file",
		ErrInvalidExport, ErrImportKeyRange, f.column, n, maxImportedKey(f.kind))
}
