// Package casetracker is the example application's data layer: a support
// case tracker whose tenants each have their cases and comments in tables
// of their own. Its models are the latest shape; its migrations bring the
// tenants made by earlier releases to it. cmd/tenantctl and
// examples/embedcli run tenantmap's commands with it.
package casetracker

import (
	"time"

	"github.com/tenantmap/tenantmap"
	"github.com/tenantmap/tenantmap/cli"
)

// Case is a support case.
type Case struct {
	ID          int64
	Title       string          `tm:",size:200"`
	Status      string          `tm:",size:20,index,default:open"`
	Priority    int             `tm:",index:by_priority,default:3"` // release 2
	SLADeadline *time.Time      // release 3: when the case must be answered by
	CreatedAt   time.Time       `tm:",default:now"`
	Extra       tenantmap.Extra // each tenant's custom fields (tenantctl fields add)
}

// Comment is a comment on a case (release 4).
type Comment struct {
	ID        int64
	CaseID    int64     `tm:",index"`
	Body      string    `tm:",type:text"`
	CreatedAt time.Time `tm:",default:now"`
}

// Migrations take a tenant made by release 1 (cases with a title, a status
// and a creation time) to the models above.
func Migrations() []tenantmap.Migration {
	return []tenantmap.Migration{
		{Version: 1, Name: "case priority", Steps: []tenantmap.Step{
			tenantmap.AddColumn("case", tenantmap.Column{Name: "priority"}),
			tenantmap.AddIndex("case", "by_priority", "priority"),
			tenantmap.SQL("UPDATE {case} SET priority = 1 WHERE status = ? AND {tenant}", "escalated"),
		}},
		{Version: 2, Name: "case SLA deadline", Steps: []tenantmap.Step{
			tenantmap.AddColumn("case", tenantmap.Column{Name: "sla_deadline"}),
		}},
		{Version: 3, Name: "comments", Steps: []tenantmap.Step{
			tenantmap.CreateTable("comment"),
		}},
	}
}

// Tables are the application's registered models.
type Tables struct {
	Cases    *tenantmap.Table[Case]
	Comments *tenantmap.Table[Comment]
}

// Register registers the models and the migrations on db.
func Register(db *tenantmap.DB) (*Tables, error) {
	cases, err := tenantmap.Register[Case](db, tenantmap.TablePerTenant("{tenant}_case"))
	if err != nil {
		return nil, err
	}
	comments, err := tenantmap.Register[Comment](db, tenantmap.TablePerTenant("{tenant}_comment"))
	if err != nil {
		return nil, err
	}
	if err := db.SetMigrations(Migrations()...); err != nil {
		return nil, err
	}
	return &Tables{Cases: cases, Comments: comments}, nil
}

// App is the tenantctl application: the commands with this package's
// models and migrations.
var App = cli.App{
	Name: "tenantctl",
	Setup: func(db *tenantmap.DB) error {
		_, err := Register(db)
		return err
	},
}
