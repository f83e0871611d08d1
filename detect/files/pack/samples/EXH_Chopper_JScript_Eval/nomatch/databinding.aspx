<%@ Page Language="C#" AutoEventWireup="true" %>
<asp:Repeater ID="Posts" runat="server"><ItemTemplate>
  <h2><%# Eval("Title") %></h2><p><%# DataBinder.Eval(Container.DataItem, "Summary") %></p>
  <a href='<%# Eval("Url", "~/post/{0}") %>'>more</a>
</ItemTemplate></asp:Repeater>
