public enum PidshVersion {
    public static let string = "0.1.0"
}
