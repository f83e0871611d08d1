package sample

import (
	"time"
)

// request is one client request as the server logs it: a front-end IIS
// line (W3SVC1, 443), an HttpProxy row in its protocol folder and, when
// the front end proxies it, a back-end IIS line (W3SVC2, 444).
type request struct {
	t        time.Time
	method   string
	stem     string
	query    string // without '?' and without Exchange's suffix
	proto    string // HttpProxy folder; "" writes no HttpProxy row
	feUser   string
	clientIP string
	ua       string
	referer  string
	status   int
	sub      int
	win32    int
	taken    int
	urlHost  string
	noCafe   bool // not handled by the Exchange proxy: no cafeReqId suffix
	encoding bool // OWA adds "&encoding=;"

	authType    string
	authUser    string
	anchor      string
	routingHint string
	routingType string
	target      string // TargetServer; "" means this server
	targetVer   string
	protoAction string
	clientReqID string
	beCookie    string
	dbGUID      string
	genericErr  string
	urlQuery    string // HttpProxy UrlQuery; default "?" + query

	noBackend bool // answered by the front end
	rowProxy  bool // the HttpProxy row shows a proxy attempt even without a back-end line
	beVersion int  // FEAuth=BEVersion-N; default this server's build
	beStem    string
	beQuery   string
	beUser    string
	beStatus  int

	feMark, pxMark, beMark *Mark
}

func (s *server) emit(q *request) {
	r := s.r
	reqID := guid(r)
	if q.taken == 0 {
		q.taken = 5 + r.IntN(120)
	}
	if q.urlHost == "" {
		q.urlHost = s.ext
	}
	iq := q.query
	if !q.noCafe {
		iq += "&CorrelationID=<empty>;&cafeReqId=" + reqID + ";"
		if q.encoding {
			iq += "&encoding=;"
		}
	}
	fe := iisLine(q.t, s.ip, q.method, q.stem, iq, 443, q.feUser, q.clientIP, q.ua, q.referer, q.status, q.sub, q.win32, q.taken)
	s.b.add(s.iisPath(1, q.t), kIIS, "", q.t, fe, q.feMark)

	proxied := !q.noBackend && !q.noCafe
	if proxied {
		bt := q.t.Add(-time.Duration(1+r.IntN(3)) * time.Millisecond)
		stem, query := q.stem, q.query
		if q.beStem != "" {
			stem, query = q.beStem, q.beQuery
		}
		bq := query + "&CorrelationID=<empty>;&cafeReqId=" + reqID + ";"
		st := q.status
		if q.beStatus != 0 {
			st = q.beStatus
		}
		user := q.beUser
		if user == "" {
			user = q.feUser
		}
		be := iisLine(bt, s.ip, q.method, stem, bq, 444, user, s.ip, q.ua, "", st, 0, 0, q.taken*2/3+1)
		s.b.add(s.iisPath(2, bt), kIIS, "", bt, be, q.beMark)
	}
	if q.proto == "" {
		return
	}
	s.b.add(s.proxyPath(q.proto, q.t), kProxy, s.version, q.t, s.proxyRow(q, reqID, proxied || q.rowProxy), q.pxMark)
}

func iisLine(t time.Time, sip, method, stem, query string, port int, user, cip, ua, ref string, status, sub, win32, taken int) string {
	b := make([]byte, 0, 320)
	b = appendIISTime(b, t)
	b = append(b, ' ')
	b = append(b, sip...)
	b = append(b, ' ')
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, stem...)
	b = append(b, ' ')
	b = append(b, dash(query)...)
	b = append(b, ' ')
	b = append(b, itoa(port)...)
	b = append(b, ' ')
	b = append(b, dash(user)...)
	b = append(b, ' ')
	b = append(b, cip...)
	b = append(b, ' ')
	b = append(b, iisUA(ua)...)
	b = append(b, ' ')
	b = append(b, dash(ref)...)
	b = append(b, ' ')
	b = append(b, itoa(status)...)
	b = append(b, ' ')
	b = append(b, itoa(sub)...)
	b = append(b, ' ')
	b = append(b, itoa(win32)...)
	b = append(b, ' ')
	b = append(b, itoa(taken)...)
	return string(b)
}

func (s *server) proxyRow(q *request, reqID string, proxied bool) string {
	r := s.r
	c := make([]string, nProxy)
	c[pDateTime] = iso(q.t)
	c[pRequestID] = reqID
	c[pMajor], c[pMinor], c[pBuild], c[pRevision] = itoa(s.major), itoa(s.minor), itoa(s.build), itoa(s.rev)
	c[pClientRequestID] = q.clientReqID
	c[pProtocol] = q.proto
	c[pURLHost] = q.urlHost
	c[pURLStem] = q.stem
	c[pProtocolAction] = q.protoAction
	c[pAuthType] = q.authType
	c[pIsAuth] = "false"
	if q.authUser != "" {
		c[pIsAuth] = "true"
	}
	c[pAuthUser] = q.authUser
	c[pAnchor] = q.anchor
	c[pUserAgent] = proxyUA(q.ua)
	c[pClientIP] = q.clientIP
	c[pServerHost] = s.name
	c[pHTTPStatus] = itoa(q.status)
	c[pMethod] = q.method
	begin := q.t.Add(-time.Duration(q.taken) * time.Millisecond)
	gi := "BeginRequest=" + iso(begin) + ";CorrelationID=<empty>;"
	total := itoa(q.taken)
	c[pTotalRequestTime] = total
	c[pActivityLifeTime] = total
	c[pHTTPPipelineLatency] = itoa(r.IntN(3))
	c[pModToHandler] = "0"
	c[pRequestBytes] = itoa(r.IntN(2000))
	c[pResponseBytes] = itoa(200 + r.IntN(9000))
	if proxied {
		c[pBackEndStatus] = c[pHTTPStatus]
		c[pProxyAction] = "Proxy"
		c[pTargetServer] = s.fqdn
		c[pTargetServerVersion] = s.version[:11] + "000"
		c[pRoutingType] = "IntraForest"
		if q.target != "" {
			c[pTargetServer] = q.target
		}
		if q.targetVer != "" {
			c[pTargetServerVersion] = q.targetVer
		}
		if q.routingType != "" {
			c[pRoutingType] = q.routingType
		}
		c[pRoutingHint] = q.routingHint
		c[pBackEndCookie] = q.beCookie
		c[pCalcTargetLatency] = itoa(r.IntN(2))
		c[pTotalGls] = "0"
		c[pTotalAcctForest] = "0"
		c[pTotalResForest] = "0"
		c[pADLatency] = itoa(r.IntN(3))
		c[pTotalSharedCache] = "0"
		be := q.taken * 2 / 3
		c[pBackendProcessing] = itoa(be)
		c[pBackendReqInit], c[pBackendReqStream], c[pBackendRespInit], c[pBackendRespStream], c[pClientRespStream] = "0", "0", "0", "0", itoa(r.IntN(2))
		c[pClientReqStream] = "0"
		c[pHandlerCompletion] = "0"
		c[pRequestHandler] = itoa(be + 1)
		c[pHandlerToModule] = "0"
		c[pProxyTime] = itoa(be + 1)
		c[pCoreLatency] = itoa(q.taken - be)
		c[pRoutingLatency] = itoa(r.IntN(2))
		c[pHTTPProxyOverhead] = itoa(q.taken - be)
		bev := versionInt(s.major, s.minor, s.build)
		if q.beVersion != 0 {
			bev = q.beVersion
		}
		gi += "ProxyState-Run=None;FEAuth=BEVersion-" + itoa(bev) + ";"
		mid := begin.Add(time.Duration(q.taken/3) * time.Millisecond)
		gi += "BeginGetResponse=" + iso(mid) + ";OnResponseReady=" + iso(q.t) + ";EndGetResponse=" + iso(q.t) + ";ProxyState-Complete=ProxyResponseData;"
	}
	gi += "SharedCacheGuard=0;EndRequest=" + iso(q.t) + ";"
	c[pGenericInfo] = gi
	c[pGenericErrors] = q.genericErr
	if q.urlQuery != "" {
		c[pURLQuery] = q.urlQuery
	} else if q.query != "" {
		c[pURLQuery] = "?" + q.query
	}
	if proxied {
		c[pDatabaseGUID] = q.dbGUID
	}
	c[pRoutingStatus] = "CafeV1"
	if !proxied {
		c[pRoutingStatus] = ""
	}
	return string(appendCSVRow(make([]byte, 0, 900), c))
}
