package sigma

import (
	"fmt"
	"sort"
	"strings"

	"github.com/exhunt/exhunt/event"
)

// family is the evidence a route reads.
type family uint8

const (
	famNone family = iota
	famWindows
	famIIS
	famHTTPProxy
	numFamilies
)

func (f family) String() string {
	return [...]string{"none", "windows", "iis", "httpproxy"}[f]
}

// familyOf maps an event source to a route family.
func familyOf(s event.Source) family {
	switch s {
	case event.EVTX, event.WinJSON:
		return famWindows
	case event.IIS:
		return famIIS
	case event.HTTPProxy:
		return famHTTPProxy
	}
	return famNone
}

// route is one place a rule is evaluated: a family, for Windows a Channel
// (any when empty) and EventIDs (any when nil), and the field mapping.
type route struct {
	fam     family
	channel string
	eids    []uint32
	ctx     *fieldCtx
}

func (rt route) String() string {
	var b strings.Builder
	b.WriteString(rt.fam.String())
	if rt.channel != "" {
		b.WriteString(" Channel=" + rt.channel)
	}
	if len(rt.eids) > 0 {
		ids := make([]string, len(rt.eids))
		for i, id := range rt.eids {
			ids[i] = fmt.Sprint(id)
		}
		b.WriteString(" EventID=" + strings.Join(ids, ","))
	}
	fmt.Fprintf(&b, " (fields: %s)", rt.ctx.name)
	return b.String()
}

// Channels.
const (
	chSysmon     = "Microsoft-Windows-Sysmon/Operational"
	chSecurity   = "Security"
	chPowerShell = "Microsoft-Windows-PowerShell/Operational"
	chPwshCore   = "PowerShellCore/Operational"
	chPSClassic  = "Windows PowerShell"
)

// serviceChannels maps `product: windows` services to event log channels.
var serviceChannels = map[string][]string{
	"security":                  {chSecurity},
	"system":                    {"System"},
	"application":               {"Application"},
	"sysmon":                    {chSysmon},
	"powershell":                {chPowerShell, chPwshCore},
	"powershell-classic":        {chPSClassic},
	"msexchange-management":     {"MSExchange Management"},
	"taskscheduler":             {"Microsoft-Windows-TaskScheduler/Operational"},
	"windefend":                 {"Microsoft-Windows-Windows Defender/Operational"},
	"wmi":                       {"Microsoft-Windows-WMI-Activity/Operational"},
	"dns-server":                {"DNS Server"},
	"dns-server-audit":          {"Microsoft-Windows-DNS-Server/Audit"},
	"dns-server-analytic":       {"Microsoft-Windows-DNS-Server/Analytical"},
	"dns-client":                {"Microsoft-Windows-DNS Client Events/Operational"},
	"driver-framework":          {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"},
	"ntlm":                      {"Microsoft-Windows-NTLM/Operational"},
	"dhcp":                      {"Microsoft-Windows-DHCP-Server/Operational"},
	"firewall-as":               {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"},
	"bits-client":               {"Microsoft-Windows-Bits-Client/Operational"},
	"codeintegrity-operational": {"Microsoft-Windows-CodeIntegrity/Operational"},
	"appxdeployment-server":     {"Microsoft-Windows-AppXDeploymentServer/Operational"},
	"appxpackaging-om":          {"Microsoft-Windows-AppxPackaging/Operational"},
	"appmodel-runtime":          {"Microsoft-Windows-AppModel-Runtime/Admin"},
	"applocker": {
		"Microsoft-Windows-AppLocker/MSI and Script",
		"Microsoft-Windows-AppLocker/EXE and DLL",
		"Microsoft-Windows-AppLocker/Packaged app-Deployment",
		"Microsoft-Windows-AppLocker/Packaged app-Execution",
	},
	"security-mitigations": {
		"Microsoft-Windows-Security-Mitigations/Kernel Mode",
		"Microsoft-Windows-Security-Mitigations/User Mode",
	},
	"printservice-admin":                   {"Microsoft-Windows-PrintService/Admin"},
	"printservice-operational":             {"Microsoft-Windows-PrintService/Operational"},
	"smbclient-security":                   {"Microsoft-Windows-SmbClient/Security"},
	"smbclient-connectivity":               {"Microsoft-Windows-SmbClient/Connectivity"},
	"smbserver-connectivity":               {"Microsoft-Windows-SMBServer/Connectivity"},
	"terminalservices-localsessionmanager": {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"},
	"microsoft-servicebus-client":          {"Microsoft-ServiceBus-Client"},
	"ldap":                                 {"Microsoft-Windows-LDAP-Client/Debug"},
	"ldap_debug":                           {"Microsoft-Windows-LDAP-Client/Debug"},
	"lsa-server":                           {"Microsoft-Windows-LSA/Operational"},
	"capi2":                                {"Microsoft-Windows-CAPI2/Operational"},
	"certificateservicesclient-lifecycle-system": {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"},
	"diagnosis-scripted":                         {"Microsoft-Windows-Diagnosis-Scripted/Operational"},
	"shell-core":                                 {"Microsoft-Windows-Shell-Core/Operational"},
	"openssh":                                    {"OpenSSH/Operational"},
	"iis-configuration":                          {"Microsoft-IIS-Configuration/Operational"},
	"bitlocker":                                  {"Microsoft-Windows-BitLocker/BitLocker Management"},
	"vhdmp":                                      {"Microsoft-Windows-VHDMP/Operational"},
	"hyper-v-worker":                             {"Microsoft-Windows-Hyper-V-Worker"},
	"kernel-shimengine":                          {"Microsoft-Windows-Kernel-ShimEngine/Operational", "Microsoft-Windows-Kernel-ShimEngine/Diagnostic"},
	"sense":                                      {"Microsoft-Windows-SENSE/Operational"},
}

// catRoute is one evidence source of a `product: windows` category.
type catRoute struct {
	channel string
	eids    []uint32
	ctx     *fieldCtx
}

// categoryRoutes maps `product: windows` categories to channels and
// EventIDs. Categories missing here (file_access, file_rename, dns, ...)
// come from ETW providers with no event log we read.
var categoryRoutes = map[string][]catRoute{
	"process_creation":          {{chSysmon, []uint32{1}, ctxSysmon}, {chSecurity, []uint32{4688}, ctxSecurity4688}},
	"file_change":               {{chSysmon, []uint32{2}, ctxSysmon}},
	"network_connection":        {{chSysmon, []uint32{3}, ctxSysmon}},
	"sysmon_status":             {{chSysmon, []uint32{4, 16}, ctxSysmon}},
	"process_termination":       {{chSysmon, []uint32{5}, ctxSysmon}},
	"driver_load":               {{chSysmon, []uint32{6}, ctxSysmon}},
	"image_load":                {{chSysmon, []uint32{7}, ctxSysmon}},
	"create_remote_thread":      {{chSysmon, []uint32{8}, ctxSysmon}},
	"raw_access_thread":         {{chSysmon, []uint32{9}, ctxSysmon}},
	"process_access":            {{chSysmon, []uint32{10}, ctxSysmon}},
	"file_event":                {{chSysmon, []uint32{11}, ctxSysmon}},
	"registry_add":              {{chSysmon, []uint32{12}, ctxSysmon}},
	"registry_delete":           {{chSysmon, []uint32{12}, ctxSysmon}},
	"registry_set":              {{chSysmon, []uint32{13}, ctxSysmon}},
	"registry_rename":           {{chSysmon, []uint32{14}, ctxSysmon}},
	"registry_event":            {{chSysmon, []uint32{12, 13, 14}, ctxSysmon}},
	"create_stream_hash":        {{chSysmon, []uint32{15}, ctxSysmon}},
	"pipe_created":              {{chSysmon, []uint32{17, 18}, ctxSysmon}},
	"wmi_event":                 {{chSysmon, []uint32{19, 20, 21}, ctxSysmon}},
	"dns_query":                 {{chSysmon, []uint32{22}, ctxSysmon}},
	"file_delete":               {{chSysmon, []uint32{23, 26}, ctxSysmon}},
	"clipboard_capture":         {{chSysmon, []uint32{24}, ctxSysmon}},
	"process_tampering":         {{chSysmon, []uint32{25}, ctxSysmon}},
	"file_block_executable":     {{chSysmon, []uint32{27}, ctxSysmon}},
	"file_block_shredding":      {{chSysmon, []uint32{28}, ctxSysmon}},
	"file_executable_detected":  {{chSysmon, []uint32{29}, ctxSysmon}},
	"sysmon_error":              {{chSysmon, []uint32{255}, ctxSysmon}},
	"ps_module":                 {{chPowerShell, []uint32{4103}, ctxWindows}, {chPwshCore, []uint32{4103}, ctxWindows}},
	"ps_script":                 {{chPowerShell, []uint32{4104}, ctxWindows}, {chPwshCore, []uint32{4104}, ctxWindows}},
	"ps_classic_start":          {{chPSClassic, []uint32{400}, ctxWindows}},
	"ps_classic_provider_start": {{chPSClassic, []uint32{600}, ctxWindows}},
	"ps_classic_script":         {{chPSClassic, []uint32{800}, ctxWindows}},
}

// routesFor maps a logsource to routes, or says why there are none.
func routesFor(ls Logsource) ([]route, string) {
	if ls.Category == "webserver" {
		switch ls.Product {
		case "", "windows", "iis":
		default:
			return nil, fmt.Sprintf("webserver logs of product %q are not read", ls.Product)
		}
		switch ls.Service {
		case "", "iis", "w3svc":
		default:
			return nil, fmt.Sprintf("webserver logs of service %q are not read", ls.Service)
		}
		return []route{{fam: famIIS, ctx: ctxIIS}, {fam: famHTTPProxy, ctx: ctxHTTPProxy}}, ""
	}
	if ls.Product != "windows" {
		if ls.Product == "" {
			return nil, fmt.Sprintf("logsource %s: no evidence source (not a windows or webserver log)", ls)
		}
		return nil, fmt.Sprintf("product %q: no evidence source", ls.Product)
	}
	if ls.Category != "" {
		crs, ok := categoryRoutes[ls.Category]
		if !ok {
			return nil, fmt.Sprintf("windows category %q: no event log we read records it", ls.Category)
		}
		out := make([]route, 0, len(crs))
		for _, cr := range crs {
			out = append(out, route{fam: famWindows, channel: cr.channel, eids: cr.eids, ctx: cr.ctx})
		}
		return out, ""
	}
	if ls.Service != "" {
		chs, ok := serviceChannels[ls.Service]
		if !ok {
			// A service spelled as a channel name routes to that channel.
			if strings.Contains(ls.Service, "/") {
				chs = []string{ls.Service}
			} else {
				return nil, fmt.Sprintf("windows service %q: unknown event log channel", ls.Service)
			}
		}
		out := make([]route, 0, len(chs))
		for _, ch := range chs {
			out = append(out, route{fam: famWindows, channel: ch, ctx: ctxWindows})
		}
		return out, ""
	}
	return []route{{fam: famWindows, ctx: ctxWindows}}, ""
}

// Field mapping.

type specKind uint8

const (
	sWin      specKind = iota // a Windows System or data field by name
	sJoin                     // Windows data fields joined by sep
	sColumn                   // a line column by name (first present)
	sURIQuery                 // line: query, stem, and stem?query
	sURI                      // line: stem?query (stem alone without query)
)

// fieldSpec says how one context reads a Sigma field.
type fieldSpec struct {
	kind  specKind
	names []string // source names
	query []string // sURIQuery/sURI: query columns
	sep   string   // sJoin separator
	split string   // characters at which the value is assembled (needles are split there)
}

// fieldCtx is a field mapping: how a route reads Sigma field names.
type fieldCtx struct {
	name  string
	fam   family
	specs map[string]*fieldSpec // lower-cased Sigma name -> source
	// rawSplit: characters whose encoding in the raw text differs from the
	// value (CSV quotes), so needles are split there.
	rawSplit string
	// plus: IIS writes spaces in header values as '+', so needles with
	// spaces also get a '+' variant.
	plus bool
}

func (c *fieldCtx) spec(lfield string) *fieldSpec {
	if s, ok := c.specs[lfield]; ok {
		return s
	}
	return nil
}

func win(names ...string) *fieldSpec {
	low := make([]string, len(names))
	for i, n := range names {
		low[i] = strings.ToLower(n)
	}
	return &fieldSpec{kind: sWin, names: low}
}
func col(names ...string) *fieldSpec {
	low := make([]string, len(names))
	for i, n := range names {
		low[i] = strings.ToLower(n)
	}
	return &fieldSpec{kind: sColumn, names: low}
}

// ctxWindows reads fields by their own names: Sysmon, PowerShell and
// service rules use the event's own EventData names.
var ctxWindows = &fieldCtx{name: "windows", fam: famWindows, specs: map[string]*fieldSpec{}}

// ctxSysmon is ctxWindows under the name of the Sysmon categories.
var ctxSysmon = &fieldCtx{name: "sysmon", fam: famWindows, specs: map[string]*fieldSpec{}}

// ctxSecurity4688 maps the Sysmon process_creation names to Security 4688.
var ctxSecurity4688 = &fieldCtx{name: "security-4688", fam: famWindows, specs: map[string]*fieldSpec{
	"image":           win("NewProcessName"),
	"parentimage":     win("ParentProcessName"),
	"commandline":     win("CommandLine"),
	"user":            {kind: sJoin, names: []string{"subjectdomainname", "subjectusername"}, sep: `\`, split: `\`},
	"logonid":         win("SubjectLogonId"),
	"processid":       win("NewProcessId"),
	"parentprocessid": win("ProcessId"),
	"integritylevel":  win("MandatoryLabel"),
}}

// webserverSpecs maps the Sigma webserver taxonomy to IIS W3C columns.
var ctxIIS = &fieldCtx{name: "iis", fam: famIIS, plus: true, specs: map[string]*fieldSpec{
	"c-ip":            col("c-ip"),
	"s-ip":            col("s-ip"),
	"s-port":          col("s-port"),
	"cs-username":     col("cs-username"),
	"cs-method":       col("cs-method"),
	"cs-uri-stem":     col("cs-uri-stem"),
	"cs-uri-query":    {kind: sURIQuery, names: []string{"cs-uri-stem"}, query: []string{"cs-uri-query"}, split: "?"},
	"cs-uri":          {kind: sURI, names: []string{"cs-uri-stem"}, query: []string{"cs-uri-query"}, split: "?"},
	"c-uri":           {kind: sURI, names: []string{"cs-uri-stem"}, query: []string{"cs-uri-query"}, split: "?"},
	"sc-status":       col("sc-status"),
	"sc-substatus":    col("sc-substatus"),
	"sc-win32-status": col("sc-win32-status"),
	"cs-user-agent":   col("cs(User-Agent)"),
	"c-useragent":     col("cs(User-Agent)"),
	"cs-useragent":    col("cs(User-Agent)"),
	"cs-referer":      col("cs(Referer)"),
	"cs-referrer":     col("cs(Referer)"),
	"cs-cookie":       col("cs(Cookie)"),
	"cs-host":         col("cs-host", "cs(Host)"),
	"cs-bytes":        col("cs-bytes"),
	"sc-bytes":        col("sc-bytes"),
	"time-taken":      col("time-taken"),
	"cs-version":      col("cs-version"),
	"s-sitename":      col("s-sitename"),
	"s-computername":  col("s-computername"),
}}

// ctxHTTPProxy maps the Sigma webserver taxonomy to HttpProxy columns.
var ctxHTTPProxy = &fieldCtx{name: "httpproxy", fam: famHTTPProxy, rawSplit: `"`, specs: map[string]*fieldSpec{
	"c-ip":           col("ClientIpAddress"),
	"cs-username":    col("AuthenticatedUser"),
	"cs-method":      col("Method"),
	"cs-uri-stem":    col("UrlStem"),
	"cs-uri-query":   {kind: sURIQuery, names: []string{"urlstem"}, query: []string{"urlquery"}, split: "?"},
	"cs-uri":         {kind: sURI, names: []string{"urlstem"}, query: []string{"urlquery"}, split: "?"},
	"c-uri":          {kind: sURI, names: []string{"urlstem"}, query: []string{"urlquery"}, split: "?"},
	"sc-status":      col("HttpStatus"),
	"cs-user-agent":  col("UserAgent"),
	"c-useragent":    col("UserAgent"),
	"cs-useragent":   col("UserAgent"),
	"cs-host":        col("UrlHost"),
	"cs-bytes":       col("RequestBytes"),
	"sc-bytes":       col("ResponseBytes"),
	"time-taken":     col("TotalRequestTime"),
	"s-computername": col("ServerHostName"),
}}

// mappingTable lists the field mapping of every context, for docs and tests.
func mappingTable() map[string][][2]string {
	out := map[string][][2]string{}
	for _, c := range []*fieldCtx{ctxSecurity4688, ctxIIS, ctxHTTPProxy} {
		var rows [][2]string
		for k, s := range c.specs {
			var src string
			switch s.kind {
			case sJoin:
				src = strings.Join(s.names, " + '"+s.sep+"' + ")
			case sURIQuery:
				src = fmt.Sprintf("%s, %s and %s?%s", s.query[0], s.names[0], s.names[0], s.query[0])
			case sURI:
				src = fmt.Sprintf("%s?%s", s.names[0], s.query[0])
			default:
				src = strings.Join(s.names, " or ")
			}
			rows = append(rows, [2]string{k, src})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
		out[c.name] = rows
	}
	return out
}
