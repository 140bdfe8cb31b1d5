// pidsh: a thin entry point. Everything else lives in PidshKit and PidshSystem.
PidshCommand.main()
