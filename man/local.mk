# man/ -- kafkagate(8) and kafkagate.conf(5) in mdoc; paths substituted at
# build time.
man_MANS += man/kafkagate.8 man/kafkagate.conf.5
CLEANFILES += man/kafkagate.8 man/kafkagate.conf.5
EXTRA_DIST += man/kafkagate.8.in man/kafkagate.conf.5.in

MAN_SUBST = $(SED) -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@VERSION[@]|$(VERSION)|g'

man/kafkagate.8: $(top_srcdir)/man/kafkagate.8.in Makefile
	$(AM_V_at)$(MKDIR_P) man
	$(AM_V_GEN)$(MAN_SUBST) $(top_srcdir)/man/kafkagate.8.in > $@

man/kafkagate.conf.5: $(top_srcdir)/man/kafkagate.conf.5.in Makefile
	$(AM_V_at)$(MKDIR_P) man
	$(AM_V_GEN)$(MAN_SUBST) $(top_srcdir)/man/kafkagate.conf.5.in > $@

if HAVE_MANDOC
check-local: man/kafkagate.8 man/kafkagate.conf.5
	$(AM_V_at)$(MANDOC) -Tlint -Wwarning man/kafkagate.8 man/kafkagate.conf.5
endif
