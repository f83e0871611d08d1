<%@ Page language="c#" AutoEventWireup="false" Inherits="Microsoft.Exchange.HttpProxy.TimeoutLogoff" %>
<html><head><meta http-equiv="refresh" content="0;url=/ecp/"></head><body></body></html>
