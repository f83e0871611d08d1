package sample

import (
	"time"
)

// hourWeight is a working-day curve in UTC for a European office.
var hourWeight = [24]int{1, 1, 1, 1, 1, 2, 5, 9, 10, 10, 10, 9, 8, 10, 10, 9, 8, 6, 4, 3, 2, 2, 1, 1}

// at returns a random instant inside hour h of day.
func (s *server) at(day time.Time, h int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(s.r.Int64N(int64(time.Hour/time.Millisecond)))*time.Millisecond)
}

// normalDay writes about n user requests spread over the day, the hourly
// health-mailbox probes, and the day's ECP, OAB and PowerShell activity.
func (s *server) normalDay(day time.Time, n int, probes []string) {
	sum := 0
	for _, w := range hourWeight {
		sum += w
	}
	for h := 0; h < 24; h++ {
		k := n * hourWeight[h] / sum
		for i := 0; i < k; i++ {
			s.userRequest(s.at(day, h))
		}
		for _, p := range probes {
			s.probe(s.at(day, h), p)
		}
	}
	s.adminECP(s.at(day, 9+s.r.IntN(6)))
	s.oabDaily(day)
	s.rpsDay(day)
}

func (s *server) pickUser() *user {
	// Skip the administrator and the help-desk admin for mail traffic.
	return &s.users[2+s.r.IntN(len(s.users)-2)]
}

func (s *server) userRequest(t time.Time) {
	r := s.r
	u := s.pickUser()
	ip := u.lanIP
	if r.IntN(3) == 0 {
		ip = u.wanIP
	}
	dom := s.domain + `\` + u.sam
	db := s.dbs[u.db]
	x := r.IntN(100)
	switch {
	case x < 30: // Outlook MAPI over HTTP
		rt := []string{"Execute", "Execute", "Execute", "Connect", "Disconnect", "NotificationWait"}[r.IntN(6)]
		ci := guid(r)
		q := &request{t: t, method: "POST", stem: "/mapi/emsmdb/", query: "mailboxId=" + u.mbx + "@" + s.dns,
			proto: "Mapi", feUser: dom, clientIP: ip, ua: u.outlook, status: 200,
			authType: "Negotiate", authUser: dom, anchor: "MailboxGuid~" + u.mbx, routingHint: "MailboxGuidWithDomain",
			clientReqID: "R:" + guid(r) + ":" + itoa(1+r.IntN(40)) + ";RT:" + rt + ";CI:" + ci + ":" + itoa(1+r.IntN(9)) + ";CID:" + guid(r),
			beCookie:    "Database~" + db + "~~" + iso(t.Add(30 * 24 * time.Hour))[:19], dbGUID: db}
		if rt == "NotificationWait" {
			q.taken = 30000 + r.IntN(200000)
		}
		if r.IntN(6) == 0 {
			q.stem = "/mapi/nspi/"
			q.query = "MailboxId=" + u.mbx + "@" + s.dns
		}
		s.emit(q)
	case x < 45: // EWS (Outlook free/busy, Mac Outlook)
		s.maybeChallenge(t, "POST", "/EWS/Exchange.asmx", "", ip, u.outlook)
		s.emit(&request{t: t, method: "POST", stem: "/EWS/Exchange.asmx", proto: "Ews", feUser: dom, clientIP: ip, ua: u.outlook, status: 200,
			authType: "Negotiate", authUser: dom, anchor: "Sid~" + u.sid, routingHint: "CommonAccessToken-Windows",
			clientReqID: guid(r), beUser: dom, dbGUID: db, protoAction: "FindItem"})
	case x < 60: // ActiveSync
		cmd := []string{"Ping", "Ping", "Sync", "Sync", "FolderSync", "GetItemEstimate", "Options"}[r.IntN(7)]
		q := &request{t: t, method: "POST", stem: "/Microsoft-Server-ActiveSync/default.eas",
			query: "Cmd=" + cmd + "&User=" + u.sam + "&DeviceId=" + u.devID + "&DeviceType=" + u.devType,
			proto: "Eas", feUser: u.upn, clientIP: u.wanIP, ua: u.phone, status: 200, protoAction: cmd,
			authType: "Basic", authUser: dom, anchor: "Sid~" + u.sid, routingHint: "WindowsIdentity-NoDatabase", dbGUID: db}
		if cmd == "Ping" {
			q.taken = 470000 + r.IntN(10000)
		}
		if cmd == "Options" {
			q.method = "OPTIONS"
		}
		s.emit(q)
	case x < 75: // OWA in a browser
		ua := browserUAs[r.IntN(len(browserUAs))]
		if r.IntN(5) == 0 {
			s.owaLogon(t, u, ip, ua)
			return
		}
		action := []string{"GetConversationItems", "FindConversation", "GetItem", "SyncCalendarEvents", "GetOwaUserConfiguration", "SubscribeToNotification"}[r.IntN(6)]
		s.emit(&request{t: t, method: "POST", stem: "/owa/service.svc", query: "action=" + action + "&app=Mail&n=" + itoa(r.IntN(90)),
			proto: "Owa", feUser: u.upn, clientIP: ip, ua: ua, referer: "https://" + s.ext + "/owa/", status: 200, encoding: true,
			authType: "FBA", authUser: u.upn, anchor: "Smtp~" + u.upn, routingHint: "AnchorMailboxHeader-SMTP", protoAction: action,
			clientReqID: guid(r) + "_" + itoa(1614300000000+r.IntN(9999999)), dbGUID: db})
	case x < 87: // Autodiscover
		if u.phone == "Outlook-iOS-Android/1.0" && r.IntN(2) == 0 || r.IntN(6) == 0 {
			// Outlook mobile and Teams use the JSON endpoint with the
			// address in the path: legitimate, and a classic false
			// positive for naive ProxyShell rules.
			proto := []string{"ActiveSync", "EWS", "Rest"}[r.IntN(3)]
			s.emit(&request{t: t, method: "GET", stem: "/autodiscover/autodiscover.json/v1.0/" + u.upn, query: "Protocol=" + proto + "&RedirectCount=1",
				proto: "Autodiscover", feUser: "", clientIP: u.wanIP, ua: u.phone, status: 200,
				anchor: "Smtp~" + u.upn, routingHint: "Url-SMTP", dbGUID: db})
			return
		}
		s.maybeChallenge(t, "POST", "/Autodiscover/Autodiscover.xml", "", ip, u.outlook)
		s.emit(&request{t: t, method: "POST", stem: "/Autodiscover/Autodiscover.xml", proto: "Autodiscover", feUser: dom, clientIP: ip, ua: u.outlook, status: 200,
			authType: "Negotiate", authUser: dom, anchor: "Smtp~" + u.upn, routingHint: "AutodiscoverRequest-SMTP", dbGUID: db})
	case x < 93: // Offline address book download
		s.emit(&request{t: t, method: "GET", stem: "/OAB/" + s.oabVD + "/oab.xml", proto: "Oab", feUser: dom, clientIP: ip, ua: u.outlook, status: 200,
			authType: "Negotiate", authUser: dom, anchor: "Sid~" + u.sid, routingHint: "OABRequest", dbGUID: db})
	default: // Outlook Anywhere (older clients)
		method := []string{"RPC_IN_DATA", "RPC_OUT_DATA"}[r.IntN(2)]
		s.emit(&request{t: t, method: method, stem: "/rpc/rpcproxy.dll", query: u.mbx + "@" + s.dns + ":6001",
			proto: "RpcHttp", feUser: dom, clientIP: ip, ua: "MSRPC", status: 200, taken: 1000 + r.IntN(60000),
			authType: "Ntlm", authUser: dom, anchor: "MailboxGuid~" + u.mbx, routingHint: "RpcHttp-MailboxGuid", dbGUID: db})
	}
}

// maybeChallenge writes the front-end 401 of an NTLM/Negotiate handshake.
func (s *server) maybeChallenge(t time.Time, method, stem, query, ip, ua string) {
	if s.r.IntN(4) != 0 {
		return
	}
	s.emit(&request{t: t.Add(-40 * time.Millisecond), method: method, stem: stem, query: query, clientIP: ip, ua: ua,
		status: 401, sub: 1, win32: 2148074254, taken: 1, noBackend: true})
}

func (s *server) owaLogon(t time.Time, u *user, ip, ua string) {
	r := s.r
	db := s.dbs[u.db]
	ref := "https://" + s.ext + "/owa/auth/logon.aspx?url=https%3a%2f%2f" + s.ext + "%2fowa%2f&reason=0"
	s.emit(&request{t: t, method: "GET", stem: "/owa/", proto: "Owa", clientIP: ip, ua: ua, status: 302, encoding: true,
		authType: "FBA", noBackend: true, taken: 2, genericErr: ""})
	t = t.Add(time.Duration(200+r.IntN(400)) * time.Millisecond)
	s.emit(&request{t: t, method: "GET", stem: "/owa/auth/logon.aspx", query: "url=https%3a%2f%2f" + s.ext + "%2fowa%2f&reason=0", proto: "Owa", clientIP: ip, ua: ua, status: 200, encoding: true,
		authType: "FBA", noBackend: true, taken: 15})
	t = t.Add(time.Duration(4000+r.IntN(9000)) * time.Millisecond)
	s.emit(&request{t: t, method: "POST", stem: "/owa/auth.owa", proto: "Owa", feUser: u.upn, clientIP: ip, ua: ua, referer: ref, status: 302, encoding: true,
		authType: "FBA", authUser: u.upn, noBackend: true, taken: 60 + r.IntN(200)})
	t = t.Add(time.Duration(300+r.IntN(500)) * time.Millisecond)
	s.emit(&request{t: t, method: "GET", stem: "/owa/", proto: "Owa", feUser: u.upn, clientIP: ip, ua: ua, referer: ref, status: 200, encoding: true,
		authType: "FBA", authUser: u.upn, anchor: "Smtp~" + u.upn, routingHint: "AnchorMailboxHeader-SMTP", dbGUID: db, taken: 300 + r.IntN(700)})
}

// probe writes one Managed Availability health-mailbox probe.
func (s *server) probe(t time.Time, proto string) {
	r := s.r
	hm := s.health[r.IntN(len(s.health))]
	dom := s.domain + `\` + hm
	db := s.dbs[r.IntN(len(s.dbs))]
	q := &request{t: t, proto: proto, feUser: dom, clientIP: "127.0.0.1", urlHost: "localhost", status: 200,
		authType: "Negotiate", authUser: dom, anchor: "Smtp~" + hm + "@" + s.dns, routingHint: "AnchorMailboxHeader-SMTP", dbGUID: db}
	switch proto {
	case "Ews":
		q.method, q.stem, q.ua, q.anchor, q.routingHint = "POST", "/ews/exchange.asmx", "AMProbe/Local/ClientAccess", "Sid~"+s.sidBase+"-"+itoa(1150+r.IntN(6)), "WindowsIdentity"
	case "Mapi":
		q.method, q.stem, q.query, q.ua = "POST", "/mapi/emsmdb/", "mailboxId="+guid(r)+"@"+s.dns, "MapiHttpClient"
		q.clientReqID = "R:" + guid(r) + ":1;RT:Connect;CI:" + guid(r) + ":1;CID:" + guid(r)
	case "Owa":
		q.method, q.stem, q.ua, q.authType = "GET", "/owa/", "AMProbe/Local/ClientAccess", "FBA"
		q.encoding = true
	case "Ecp":
		q.method, q.stem, q.ua = "GET", "/ecp/", "AMProbe/Local/ClientAccess"
	case "Autodiscover":
		q.method, q.stem, q.ua = "POST", "/Autodiscover/Autodiscover.xml", "AMProbe/Local/ClientAccess"
	case "Eas":
		q.method, q.stem, q.query, q.ua, q.authType = "POST", "/Microsoft-Server-ActiveSync/default.eas", "Cmd=FolderSync&User="+hm+"&DeviceId=EASProbeDevice&DeviceType=EASProbeDeviceType", "AMProbe/Local/ClientAccess", "Basic"
	case "Oab":
		q.method, q.stem, q.ua = "GET", "/OAB/"+s.oabVD+"/oab.xml", "AMProbe/Local/ClientAccess"
	}
	s.emit(q)
}

// adminECP writes an ECP session of the help-desk administrator: IIS
// lines, HttpProxy Ecp rows and ECP server log rows.
func (s *server) adminECP(t time.Time) {
	r := s.r
	a := &s.users[s.admins[1]]
	dom := s.domain + `\` + a.sam
	ua := browserUAs[0]
	canary := canary(r)
	s.emit(&request{t: t, method: "GET", stem: "/ecp/", proto: "Ecp", feUser: dom, clientIP: a.lanIP, ua: ua, status: 200,
		authType: "Negotiate", authUser: dom, anchor: "Sid~" + a.sid, routingHint: "CommonAccessToken-Windows", dbGUID: s.dbs[a.db]})
	cmds := []struct{ schema, cmd string }{
		{"Mailboxes", "Get-Recipient.PropertySet=ConsoleSmallSet.RecipientTypeDetails=...ResultSize=Unlimited"},
		{"Mailboxes", "Get-Mailbox.Identity='" + s.users[r.IntN(len(s.users))].upn + "'"},
		{"DistributionGroups", "Get-DistributionGroup.ResultSize=Unlimited"},
		{"MessageTrace", "Get-MessageTrackingLog.Start='" + string(appendIISTime(nil, t.Add(-48*time.Hour))) + "'.ResultSize=1000"},
	}
	n := 3 + r.IntN(6)
	for i := 0; i < n; i++ {
		t = t.Add(time.Duration(2000+r.IntN(40000)) * time.Millisecond)
		c := cmds[r.IntN(len(cmds))]
		url := "/ecp/DDI/DDIService.svc/GetList?schema=" + c.schema + "&msExchEcpCanary=" + canary
		s.emit(&request{t: t, method: "POST", stem: "/ecp/DDI/DDIService.svc/GetList", query: "schema=" + c.schema + "&msExchEcpCanary=" + canary,
			proto: "Ecp", feUser: dom, clientIP: a.lanIP, ua: ua, referer: "https://" + s.ext + "/ecp/", status: 200,
			authType: "Negotiate", authUser: dom, anchor: "Sid~" + a.sid, routingHint: "CommonAccessToken-Windows", dbGUID: s.dbs[a.db]})
		s.ecp(t.Add(-20*time.Millisecond), c.cmd, url, "", nil)
	}
}

func canary(r interface{ IntN(int) int }) string {
	const al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 75)
	for i := range b {
		b[i] = al[r.IntN(len(al))]
	}
	return string(b) + "."
}

// ecp writes one ECP server log row.
func (s *server) ecp(t time.Time, cmd, url, ex string, m *Mark) {
	r := s.r
	data := "S:TIME=" + itoa(5+r.IntN(400)) + ";S:SID=" + guid(r) + ";S:CMD=" + cmd + ";S:REQID=;S:URL=" + url +
		";S:REFERRER=;S:EX=" + ex + ";S:ACTID=" + guid(r) + ";S:RS=0;S:BLD=" + s.bld() + ";S:TNAME=<null>;S:TID=;S:USID=" + guid(r) + ";S:EDOID=;S:ACID="
	row := appendCSVRow(nil, []string{iso(t), s.name, "ECP.Request", data})
	s.b.add(s.ecpPath(t), kECP, "", t, string(row), m)
}

// oab writes one OAB generator log row.
func (s *server) oab(t time.Time, level, msg string, m *Mark) {
	row := appendCSVRow(nil, []string{iso(t), s.name, "7316", itoa(40 + s.r.IntN(30)), level, "OABGeneratorAssistant", msg})
	s.b.add(s.oabPath(t), kOAB, "", t, string(row), m)
}

func (s *server) oabDaily(day time.Time) {
	r := s.r
	t := day.Add(time.Duration(1*3600+r.IntN(1800)) * time.Second)
	oab := "\\Default Offline Address Book"
	s.oab(t, "Information", "OABGeneratorAssistant starting work cycle for mailbox 'SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}'", nil)
	t = t.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
	s.oab(t, "Information", "Begin processing offline address book '"+oab+"', OAB mailbox GUID: "+s.oabVD+", organization: 'Default'", nil)
	t = t.Add(time.Duration(20000+r.IntN(30000)) * time.Millisecond)
	s.oab(t, "Information", "Generated full download files for offline address book '"+oab+"': "+itoa(len(s.users)+40)+" entries, "+itoa(8+r.IntN(5))+" files", nil)
	t = t.Add(time.Duration(2000+r.IntN(3000)) * time.Millisecond)
	s.oab(t, "Information", "Finished processing offline address book '"+oab+"'", nil)
}

// rpsDay writes Exchange Management Shell traffic to the PowerShell
// proxy log: back-end probes every four hours and one admin session.
func (s *server) rpsDay(day time.Time) {
	r := s.r
	for h := 2; h < 24; h += 4 {
		t := s.at(day, h)
		hm := s.health[r.IntN(len(s.health))]
		s.rps(t, s.domain+`\`+hm, "127.0.0.1", "Exchange BackEnd Probes", "Get-ExchangeServer", "")
	}
	a := &s.users[s.admins[0]]
	t := s.at(day, 10)
	for _, c := range []string{"", "Get-Mailbox", "Get-MailboxDatabaseCopyStatus", "Get-Queue", "Get-ExchangeServer"} {
		t = t.Add(time.Duration(3000+r.IntN(60000)) * time.Millisecond)
		s.rps(t, s.domain+`\`+a.sam, a.lanIP, "Microsoft WinRM Client", c, "")
		// The Management Shell talks to /powershell on the front end too.
		s.emit(&request{t: t, method: "POST", stem: "/powershell", query: "serializationLevel=Full;ExchClientVer=" + s.bld() + ";clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.14393.4104",
			proto: "PowerShell", feUser: s.domain + `\` + a.sam, clientIP: a.lanIP, ua: "Microsoft WinRM Client", status: 200,
			authType: "Kerberos", authUser: s.domain + `\` + a.sam, anchor: "Sid~" + a.sid, routingHint: "CommonAccessToken-Windows", dbGUID: s.dbs[a.db]})
	}
}

func (s *server) rps(t time.Time, user, ip, client, cmd, errs string) {
	r := s.r
	c := make([]string, nRps)
	c[rDateTime] = iso(t)
	c[rStartTime] = iso(t.Add(-time.Duration(50+r.IntN(900)) * time.Millisecond))
	c[rRequestID] = guid(r)
	c[rMajor], c[rMinor], c[rBuild], c[rRevision] = itoa(s.major), itoa(s.minor), itoa(s.build), itoa(s.rev)
	c[rURLHost] = s.fqdn
	c[rURLStem] = "/powershell"
	c[rAuthType] = "Kerberos"
	c[rIsAuth] = "true"
	c[rAuthUser] = user
	c[rClientIP] = ip
	c[rServerHost] = s.name
	c[rFrontEnd] = s.fqdn
	c[rHTTPStatus] = "200"
	c[rSubStatus] = "0"
	if cmd == "" {
		c[rAction] = "Create"
	} else {
		c[rAction] = "Command"
		c[rCommandID] = guid(r)
		c[rCommandName] = cmd
	}
	c[rSessionID] = "Session" + itoa(1+r.IntN(40))
	c[rShellID] = guid(r)
	c[rFailFast] = "False"
	c[rContributeFailFast] = "False"
	c[rRequestBytes] = itoa(800 + r.IntN(6000))
	c[rClientInfo] = client
	c[rCPU] = itoa(r.IntN(200))
	c[rMemory] = itoa(100000 + r.IntN(900000))
	c[rActivityLifeTime] = itoa(50 + r.IntN(900))
	c[rTotalTime] = c[rActivityLifeTime]
	c[rURLQuery] = "?serializationLevel=Full;ExchClientVer=" + s.bld() + ";clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.14393.4104"
	c[rGenericInfo] = "OnEndRequest.End.ContentType=application/soap+xml charset UTF-8;S:ServiceCommonMetadata.HttpMethod=POST;"
	c[rGenericErrors] = errs
	row := appendCSVRow(nil, c)
	s.b.add(s.rpsPath(t), kRps, s.version, t, string(row), nil)
}
