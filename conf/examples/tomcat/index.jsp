<%-- The demo webapp: which node answered, the HTTP session, and a per-session
     counter. encodeURL gives cookieless clients a ;jsessionid= link. --%><%@ page
contentType="text/plain; charset=UTF-8" session="true" %><%
  Integer n = (Integer) session.getAttribute("count");
  n = (n == null) ? 1 : n + 1;
  session.setAttribute("count", n);
%>backend=<%= System.getProperty("jvmRoute") %>
session=<%= session.getId() %>
count=<%= n %>
link=<%= response.encodeURL(request.getContextPath() + "/index.jsp") %>
