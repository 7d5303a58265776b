// Command tenantctl manages the tenants of a tenantmap database: their
// lifecycle, migrations, status and drift, with the example application's
// models and migrations (examples/casetracker). An application builds the
// same commands with its own models; see examples/embedcli.
//
//	go run ./cmd/tenantctl tenants create acme
//	go run ./cmd/tenantctl migrate --parallel 8
//	TENANTMAP_URL=postgres://localhost/app go run ./cmd/tenantctl status
package main

import (
	"github.com/tenantmap/tenantmap/cli"
	"github.com/tenantmap/tenantmap/examples/casetracker"
)

func main() { cli.Main(casetracker.App) }
