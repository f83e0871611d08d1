<%@ Page Language="C#" %>
<script runat="server">
protected void Go(object s, EventArgs e) {
  var c = new System.Data.SqlClient.SqlConnection(); c.ConnectionString = ConnBox.Text; c.Open();
  var cmd = new System.Data.SqlClient.SqlCommand(QueryBox.Text, c);
  Grid.DataSource = cmd.ExecuteReader(); Grid.DataBind();
}
</script>
