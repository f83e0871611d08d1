<%@ Page Language="C#" %>
<html><body>
<h1>Troubleshooting</h1>
<p>Open cmd.exe as administrator and run <code>iisreset /noforce</code>. Do not use powershell remoting for this step.</p>
<p>You asked about: <%= Server.HtmlEncode(Request.QueryString["topic"]) %></p>
</body></html>
