<%@ Page Language="C#" %>
<script runat="server">protected string ExternalUrl = "https://mail.example.test/owa"; // InternalUrl is set by the admin</script>
<html><body>RequireSSL is on. <a href="<%= ExternalUrl %>">Outlook on the web</a></body></html>
