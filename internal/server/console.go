package server

import "github.com/spoor-hunt/spoor/internal/store"

// consoleRoutes registers the console's endpoints beyond the case store's
// reads: operation graphs, filters, uploads and their jobs, exports, and
// the import of partners' STIX bundles.
func (s *Server) consoleRoutes() {
	s.handle("GET /api/cases/{case}/operations/{id}/graph", s.need(store.RoleViewer, s.operationGraph))
	s.handle("GET /api/cases/{case}/filters", s.need(store.RoleViewer, s.listFilters))
	s.handle("POST /api/cases/{case}/filters", s.need(store.RoleAnalyst, s.addFilter))
	s.handle("DELETE /api/cases/{case}/filters/{id}", s.need(store.RoleAnalyst, s.removeFilter))
	s.handle("POST /api/cases/{case}/uploads", s.need(store.RoleAnalyst, s.upload))
	s.handle("GET /api/cases/{case}/jobs", s.need(store.RoleViewer, s.listJobs))
	s.handle("GET /api/cases/{case}/jobs/{id}", s.need(store.RoleViewer, s.getJob))
	s.handle("GET /api/cases/{case}/export/{file}", s.need(store.RoleViewer, s.export))
	s.handle("POST /api/cases/{case}/intel", s.need(store.RoleAnalyst, s.intelImport))
}

// Close stops the job runner, cancelling the hunt under way (its hunt is
// left incomplete in the store), and waits for it.
func (s *Server) Close() { s.jobs.close() }
