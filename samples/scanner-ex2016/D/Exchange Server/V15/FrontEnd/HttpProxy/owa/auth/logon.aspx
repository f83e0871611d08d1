<%@ Page language="c#" AutoEventWireup="false" Inherits="Microsoft.Exchange.HttpProxy.Logon" %>
<%@ Import namespace="Microsoft.Exchange.HttpProxy"%>
<!DOCTYPE html>
<html><head><title>Outlook</title>
<link type="text/css" rel="stylesheet" href="/owa/auth/<%=Microsoft.Exchange.Clients.Owa.Core.OwaVersion.Current%>/themes/resources/logon.css">
</head><body class="signInBg">
<form action="/owa/auth.owa" method="POST" name="logonForm" ENCTYPE="application/x-www-form-urlencoded" autocomplete="off">
<input type="hidden" name="destination" value="<%=Server.HtmlEncode(Destination)%>">
<input id="username" name="username" type="text"> <input id="password" name="password" type="password">
<% if (ShowError) { %><div class="signInError"><%=ErrorText%></div><% } %>
</form></body></html>
