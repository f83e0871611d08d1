<%@ Page Language="JScript" %>
<script runat="server">function Page_Load() { var total = eval("1 + 2"); Label1.Text = "Sum: " + total + " for " + Request.QueryString["name"]; }</script>
