<%@ Page Language="C#" %>
<html><body><h2>Build notes</h2>
<p>The report generator uses a CodeDomProvider at build time only; nothing is compiled on this server.</p>
</body></html>
