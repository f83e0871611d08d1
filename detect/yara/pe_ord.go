package yara

import (
	"strconv"
	"strings"
)

// winsockOrdinals are the Winsock 1.1 exports of wsock32.dll and
// ws2_32.dll by ordinal (fixed by the Windows Sockets 1.1 specification).
var winsockOrdinals = map[uint16]string{
	1: "accept", 2: "bind", 3: "closesocket", 4: "connect", 5: "getpeername", 6: "getsockname",
	7: "getsockopt", 8: "htonl", 9: "htons", 10: "ioctlsocket", 11: "inet_addr", 12: "inet_ntoa",
	13: "listen", 14: "ntohl", 15: "ntohs", 16: "recv", 17: "recvfrom", 18: "select", 19: "send",
	20: "sendto", 21: "setsockopt", 22: "shutdown", 23: "socket",
	51: "gethostbyaddr", 52: "gethostbyname", 53: "getprotobyname", 54: "getprotobynumber",
	55: "getservbyname", 56: "getservbyport", 57: "gethostname",
	101: "WSAAsyncSelect", 102: "WSAAsyncGetHostByAddr", 103: "WSAAsyncGetHostByName",
	104: "WSAAsyncGetProtoByNumber", 105: "WSAAsyncGetProtoByName", 106: "WSAAsyncGetServByPort",
	107: "WSAAsyncGetServByName", 108: "WSACancelAsyncRequest", 109: "WSASetBlockingHook",
	110: "WSAUnhookBlockingHook", 111: "WSAGetLastError", 112: "WSASetLastError",
	113: "WSACancelBlockingCall", 114: "WSAIsBlocking", 115: "WSAStartup", 116: "WSACleanup",
	151: "__WSAFDIsSet", 500: "WEP",
}

func isWinsock(dll string) bool {
	return len(dll) >= 10 && strings.EqualFold(dll[:10], "WS2_32.dll") ||
		len(dll) >= 11 && strings.EqualFold(dll[:11], "wsock32.dll")
}

func isOleaut(dll string) bool { return len(dll) >= 12 && strings.EqualFold(dll[:12], "oleaut32.dll") }

// ordinalName names a function imported by ordinal as libyara does:
// a known name for the DLLs libyara knows, "ordN" otherwise.
func ordinalName(dll string, ord uint16) string {
	if isWinsock(dll) {
		if n, ok := winsockOrdinals[ord]; ok {
			return n
		}
	}
	return "ord" + strconv.Itoa(int(ord))
}

// ordinalUnknown reports an ordinal import that libyara names from a table
// we do not carry (the rest of ws2_32's and oleaut32's): the name, and so
// the import hash, cannot be reproduced.
func ordinalUnknown(dll string, ord uint16) bool {
	if isWinsock(dll) {
		_, ok := winsockOrdinals[ord]
		return !ok
	}
	return isOleaut(dll)
}
