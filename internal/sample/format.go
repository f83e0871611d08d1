package sample

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Line endings and headers are written as a Windows server writes them:
// CRLF everywhere, IIS 10.0 W3C directives, Exchange CSV directives.
const crlf = "\r\n"

// iisFields is the IIS default W3C field list (parse/w3c.DefaultFields).
const iisFields = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"

// proxyFields is the HttpProxy column list of Exchange 2016 (CU18 writes
// the same set as CU22; see parse/exlog.HTTPProxyFields).
const proxyFields = "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus"

// rpsFields is the CmdletInfra PowerShell-Proxy (Rps_Http) column list.
const rpsFields = "DateTime,StartTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,UrlHost,UrlStem,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,ManagedOrganization,ClientIpAddress,ServerHostName,FrontEndServer,HttpStatus,SubStatus,ErrorCode,Action,CommandId,CommandName,SessionId,ShellId,FailFast,ContributeToFailFast,RequestBytes,ClientInfo,CPU,Memory,ActivityContextLifeTime,TotalTime,UrlQuery,GenericLatency,GenericInfo,GenericErrors"

const ecpFields = "TimeStamp,ServerName,EventId,EventData"

// oabFields is our stand-in for the OAB generator log columns: the
// detections only read the message text.
const oabFields = "DateTime,ServerName,ProcessId,ThreadId,Level,Component,Message"

// HttpProxy column indexes (order of proxyFields).
const (
	pDateTime = iota
	pRequestID
	pMajor
	pMinor
	pBuild
	pRevision
	pClientRequestID
	pProtocol
	pURLHost
	pURLStem
	pProtocolAction
	pAuthType
	pIsAuth
	pAuthUser
	pOrganization
	pAnchor
	pUserAgent
	pClientIP
	pServerHost
	pHTTPStatus
	pBackEndStatus
	pErrorCode
	pMethod
	pProxyAction
	pTargetServer
	pTargetServerVersion
	pRoutingType
	pRoutingHint
	pBackEndCookie
	pServerLocatorHost
	pServerLocatorLatency
	pRequestBytes
	pResponseBytes
	pTargetOutstanding
	pAuthModulePerf
	pHTTPPipelineLatency
	pCalcTargetLatency
	pGlsBreakup
	pTotalGls
	pAcctForestBreakup
	pTotalAcctForest
	pResForestBreakup
	pTotalResForest
	pADLatency
	pSharedCacheBreakup
	pTotalSharedCache
	pActivityLifeTime
	pModToHandler
	pClientReqStream
	pBackendReqInit
	pBackendReqStream
	pBackendProcessing
	pBackendRespInit
	pBackendRespStream
	pClientRespStream
	pKerberosAuthHeader
	pHandlerCompletion
	pRequestHandler
	pHandlerToModule
	pProxyTime
	pCoreLatency
	pRoutingLatency
	pHTTPProxyOverhead
	pTotalRequestTime
	pRouteRefresher
	pURLQuery
	pBackEndGenericInfo
	pGenericInfo
	pGenericErrors
	pEdgeTraceID
	pDatabaseGUID
	pUserADObjectGUID
	pPartitionLookup
	pRoutingStatus
	nProxy
)

// Rps_Http column indexes (order of rpsFields).
const (
	rDateTime = iota
	rStartTime
	rRequestID
	rMajor
	rMinor
	rBuild
	rRevision
	rClientRequestID
	rURLHost
	rURLStem
	rAuthType
	rIsAuth
	rAuthUser
	rOrganization
	rManagedOrg
	rClientIP
	rServerHost
	rFrontEnd
	rHTTPStatus
	rSubStatus
	rErrorCode
	rAction
	rCommandID
	rCommandName
	rSessionID
	rShellID
	rFailFast
	rContributeFailFast
	rRequestBytes
	rClientInfo
	rCPU
	rMemory
	rActivityLifeTime
	rTotalTime
	rURLQuery
	rGenericLatency
	rGenericInfo
	rGenericErrors
	nRps
)

// appendCSV appends one CSV field, quoting it the way Exchange's log
// writer does: only when it holds a comma, a quote or a line break.
func appendCSV(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

func appendCSVRow(dst []byte, cols []string) []byte {
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCSV(dst, c)
	}
	return dst
}

// appendISO appends 2021-02-27T19:53:36.865Z.
func appendISO(dst []byte, t time.Time) []byte {
	dst = appendDate(dst, t, '-')
	dst = append(dst, 'T')
	dst = appendClock(dst, t)
	dst = append(dst, '.')
	dst = append3(dst, t.Nanosecond()/1e6)
	return append(dst, 'Z')
}

// appendIISTime appends "2021-02-27 19:53:36".
func appendIISTime(dst []byte, t time.Time) []byte {
	dst = appendDate(dst, t, '-')
	dst = append(dst, ' ')
	return appendClock(dst, t)
}

func appendDate(dst []byte, t time.Time, sep byte) []byte {
	y, m, d := t.Date()
	dst = append4(dst, y)
	if sep != 0 {
		dst = append(dst, sep)
	}
	dst = append2(dst, int(m))
	if sep != 0 {
		dst = append(dst, sep)
	}
	return append2(dst, d)
}

func appendClock(dst []byte, t time.Time) []byte {
	h, mi, s := t.Clock()
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	return append2(dst, s)
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
func append3(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
}
func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

func iso(t time.Time) string { return string(appendISO(nil, t)) }

const hexdigits = "0123456789abcdef"

// appendGUID appends a random version-4 GUID in lower case.
func appendGUID(dst []byte, r *rand.Rand) []byte {
	a, b := r.Uint64(), r.Uint64()
	a = a&^(0xf<<12) | 0x4<<12 // version nibble
	b = b&^(0x3<<62) | 0x2<<62 // variant
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		var x byte
		if i < 8 {
			x = byte(a >> (56 - 8*i))
		} else {
			x = byte(b >> (56 - 8*(i-8)))
		}
		dst = append(dst, hexdigits[x>>4], hexdigits[x&0xf])
	}
	return dst
}

func guid(r *rand.Rand) string { return string(appendGUID(nil, r)) }

func hexString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[r.IntN(16)]
	}
	return string(b)
}

// iisUA writes a user agent the way IIS logs it: spaces become '+'.
func iisUA(ua string) string {
	if ua == "" {
		return "-"
	}
	return strings.ReplaceAll(ua, " ", "+")
}

// proxyUA writes a user agent the way the HttpProxy log does: commas
// become spaces ("(KHTML  like Gecko)"), so the field never needs quotes.
func proxyUA(ua string) string { return strings.ReplaceAll(ua, ",", " ") }

func itoa(v int) string { return strconv.Itoa(v) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// versionInt is the integer form of a server version that HttpProxy logs
// as FEAuth=BEVersion-N and that the X-BEResource cookie carries after '~'.
func versionInt(major, minor, build int) int {
	return 0x70008000 | major<<22 | minor<<16 | build
}
