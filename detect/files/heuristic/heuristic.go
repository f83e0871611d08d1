// Package heuristic holds exhunt's hand-written file detectors for
// Exchange compromise: the OAB dump shell, pages hidden in mailbox exports
// and certificate requests, pages where Exchange ships none, compiled
// leftovers of deleted shells, LSASS dumps, staging archives, rogue IIS
// virtual directories and crash reports of Exchange workers. Each is a
// files.Detector value with its metadata and its own samples; All lists
// them (no init-time registration).
package heuristic

import "github.com/exhunt/exhunt/detect/files"

// All returns every heuristic, in ID order.
func All() []*files.Detector {
	return []*files.Detector{
		oabDumpShell,
		containerPage,
		unexpectedPage,
		compiledLeftover,
		lsassDump,
		stagingArchive,
		rogueVirtualDirectory,
		workerCrashReport,
	}
}

// ArchiveID is the staging-archive heuristic, whose severity the run's
// after-pass raises when the host has other findings (files.Escalate).
const ArchiveID = "EXH-FILE-06"

// Places (evidence.Place values) the heuristics look at.
const (
	placeAspnetClient = "aspnet_client"
	placeOWAAuth      = "owa_auth"
	placeECPAuth      = "ecp_auth"
	placeTempASPNET   = "temp_aspnet"
	placeProgramData  = "programdata"
	placeIISConfig    = "iis_config"
)
